Feature: The reference model segments bone and vessels on phantoms it never saw
  Seeds, spacings and orientations below were not used in training
  (software/training/train_reference.py TRAINING_CASES).

  @SRS-INF-013 @RC-023
  Scenario Outline: Dice, HD95 and ASSD on held-out phantoms
    Given a "<kind>" phantom of shape <shape> with spacing <spacing> in position "<position>" and orientation "<orientation>" and seed <seed>
    And it is written as a DICOM series
    And the reference model
    When I run corridor infer on the series with "--device cpu"
    Then the command exits with status 0
    And bone reaches Dice at least 0.95 and vessel at least 0.85 against the ground truth
    And HD95 and ASSD of bone and vessel are reported, HD95 at most 3.0 mm

    Examples:
      | kind   | shape       | spacing        | position | orientation | seed |
      | pelvis | 250 180 90  | 1.4 1.4 1.8    | FFS      | sagittal    | 101  |
      | femur  | 140 150 110 | 1.1 1.05 1.6   | HFP      | oblique     | 102  |
