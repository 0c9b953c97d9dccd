Feature: The case report's slices show the patient's sides where their labels say
  A CT of air holding three bright cubes, each off the centre in two directions of the plane
  it lies in, is drawn as the report draws its slices; the oracle is the radiological
  convention itself, stated here, and the cubes' positions in the patient (LPS).

  @SRS-JOB-003 @RC-045 @PR-005
  Scenario Outline: Each plane shows a cube placed left, anterior or superior on the side its labels name
    Given a CT of air whose voxel axes run <axes> in the patient, with a bright cube left and anterior of its centre, one left and superior, and one anterior and superior
    When its axial, coronal and sagittal slices are drawn as the case report draws them
    Then the axial slice shows its cube right of centre and above it, where the report labels L and A
    And the coronal slice shows its cube right of centre and above it, where the report labels L and S
    And the sagittal slice shows its cube left of centre and above it, where the report labels A and S

    Examples:
      | axes                                    |
      | along L, P and S (a head-first supine axial series) |
      | along R, P and I (a feet-first supine axial series) |
      | along P, I and L (a sagittal series)               |
      | obliquely, 20 degrees about S then 15 about L       |
