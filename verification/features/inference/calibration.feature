Feature: The reference model's probabilities are calibrated, and the segmentation's alternatives kept
  The manifest's temperature divides the log-probabilities on the CT grid; fitted on held-out
  phantoms (verification/benchmarks/bench_calibration.py), it must lower the expected
  calibration error on phantoms it was not fitted on, and never change the label map. The alternatives at probability 0.3
  and 0.7 are what planning measures its trajectory on again.

  @SRS-INF-018 @RC-071
  Scenario: The shipped temperature lowers the expected calibration error on a held-out phantom
    Given the held-out "femur" phantom of shape 48 48 40 with spacing 2.0 2.0 2.5 and seed 401, segmented by the reference model as shipped
    Then the shipped temperature is below 1 and the run record states it
    And the expected calibration error over 15 equal-width bins, against the phantom's classes, is lower for the delivered probabilities scaled by the shipped temperature than for the delivered probabilities
    And the entropy map is the entropy of the delivered probabilities scaled by the shipped temperature
    And the label map is the most probable class of the delivered probabilities

  @SRS-INF-019 @RC-072
  Scenario: Each alternative is the thresholding of the delivered probabilities, risk structures winning overlaps
    Given the held-out "femur" phantom of shape 48 48 40 with spacing 2.0 2.0 2.5 and seed 401, segmented by the reference model as shipped
    Then each alternative equals, voxel for voxel, the delivered probabilities scaled by the shipped temperature, thresholded at 0.3 and 0.7 with the vessel winning overlaps
    And the run record names the alternatives p>=0.3 and p>=0.7

  @SRS-INF-018
  Scenario Outline: A manifest's temperature is optional and bounded
    Given the reference model's manifest with temperature <temperature>
    Then it <outcome>

    Examples:
      | temperature | outcome                              |
      | absent      | loads with temperature 1.0           |
      | 0           | is refused naming the temperature    |
      | 50          | is refused naming the temperature    |
      | 0.5         | loads with temperature 0.5           |
