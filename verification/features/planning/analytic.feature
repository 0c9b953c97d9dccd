Feature: The planner against analytic phantoms whose answers are known
  Phantoms are closed-form solids (a bone cylinder, vessel cylinders) sampled on a voxel grid;
  the expected corridor, clearances and verdicts come from their geometry, never from the planner.

  @SRS-PLN-005 @SRS-PLN-003 @SRS-PLN-004 @RC-029 @RC-032
  Scenario Outline: The closed-form maximin corridor between the cortex and two vessels
    Given a bone cylinder of radius 12 mm along z with vessels of radius 3 mm at 20 mm along +x and +y, spacing <spacing> mm
    When the analytic procedure is planned on it
    Then the verdict is "safe"
    And the entry is within 0.5 mm and the direction within 1 degree of the closed-form optimum
    And each clearance estimate is within the stated uncertainty of its closed-form value, and its guaranteed minimum is below it

    Examples:
      | spacing       |
      | 0.5 0.5 0.5   |
      | 0.4 0.6 0.5   |

  @SRS-PLN-007 @RC-036 @SRS-PLN-006
  Scenario: A vessel in the only corridor gives no safe trajectory, its shortfall and no implant surface
    Given a bone cylinder of radius 12 mm along z with a vessel of radius 3 mm along its axis, spacing 0.5 0.5 0.5 mm
    And it is saved as a NIfTI label map, named by --label-names, with the analytic procedure as a template file
    When corridor plan-trajectory is run on it
    Then it exits with status 3
    And plan.json gives the verdict "no-safe-trajectory" with the failed constraint "vessel" and a positive shortfall
    And the folder holds plan.json and risk-map.png but no implant.stl

  @SRS-PLN-004 @RC-029 @RC-032 @RC-034
  Scenario: Every plan reported safe keeps its clearances under brute-force sampling of the implant volume
    Given random bone-and-vessel phantoms with random spacing, tilt, implant and clearances
    Then every plan reported safe keeps each required clearance when its implant volume is sampled densely against the ground-truth voxels

  @SRS-PLN-005 @SRS-PLN-008
  Scenario: A safe corridor constructed into random phantoms is always found and confirmed
    Given random bone-and-vessel phantoms in which the bone's own axis keeps every clearance with room to spare
    Then the planner never answers "no-safe-trajectory" and the re-check confirms every plan

  @SRS-PLN-003
  Scenario: Distance fields agree with SciPy's exact transform on random anisotropic masks
    Given random masks on grids with random anisotropic spacing
    Then the corridor depth and the risk distance equal SciPy's exact Euclidean transform less half the mean spacing, capped

  @SRS-PLN-003 @RC-029
  Scenario: A sheared grid is refused
    Given the two-vessel phantom on a grid whose k axis is sheared by 5 degrees
    When the analytic procedure is planned on it
    Then planning is refused naming "label map geometry" and "orthogonal"
