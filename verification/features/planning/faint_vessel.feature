Feature: Trouble planted in the CT itself, met by the reference model and the planner
  A faint vessel segment (low contrast, blurred edge: the phantom fault faint-vessel) is planted
  in a femur phantom's CT, and the case is segmented by the reference model and planned for a
  femoral-neck screw with the segmentation's alternatives. Uncertainty far from the implant
  must change neither the verdict nor the trajectory. (Near the implant, what the reference
  model's alternatives hold of such a segment is measured by
  verification/benchmarks/bench_faint_vessel.py; see HAZ-045.)

  @SRS-PHA-005 @SRS-PLN-021 @SRS-PLN-022 @RC-070 @RC-076 @RC-077
  Scenario: A faint vessel planted in the CT far from the implant flips nothing and moves nothing
    Given the femur phantom of 68 68 76 voxels of 2 mm with a faint vessel of radius 4 mm at 0.4 of a vessel's contrast, blurred 1 mm, beside the shaft 50 mm below the neck
    When it is segmented by the reference model and planned for a left femoral-neck screw with the segmentation's alternatives
    Then the verdict is safe and verdict-uncertain is not raised
    And the trajectory is the nominal best, robust under every alternative, without a second search
    And the planted segment lies beyond the distance fields' cap from the implant, by the truth labels
