Feature: Regularisation of gantry-tilted and unevenly spaced series (opt-in)
  A tilted or unevenly spaced series is resampled onto a regular grid in patient coordinates:
  i and j along the acquired rows and columns, k along the slice normal, spaced by the smallest
  gap between slices.  Each output plane blends linearly the two acquired slices around it, each
  sampled bilinearly at the projection of the output voxel centres.

  Oracles, none of them the code under test: the sphere phantom's parameters (where its grid
  lies, its tilt and its slice steps, from which the expected grid and the expected largest
  displacement are derived here), its analytic anatomy (1000 HU inside the sphere, 0 outside,
  evaluated at the output voxel centres), the series read with pydicom, and dcm2niix converting
  the same series (its _Tilt and _Eq volumes).

  Tolerances and why:
  * world coordinates 0.001 mm (Corridor's geometry tolerance): positions travel as DICOM
    decimal strings (about 1e-9 mm of rounding) and NIfTI stores dcm2niix's affine in float32
    (about 2e-5 mm at 200 mm from the origin);
  * intensities against the analytic phantom 0.01 HU (float32 output), at the voxels farther
    from the sphere's surface than the interpolation cell's diagonal
    sqrt(row spacing² + column spacing² + largest gap²): every acquired sample blended into such
    a voxel lies on the same side of the surface (the distance to a sphere is 1-Lipschitz), so
    linear interpolation of the piecewise-constant phantom is exact there; nearer the surface the
    value is a blend of both sides, which is what interpolation does, and is only required to
    lie between them;
  * padding: a voxel is padding when an acquired sample it needs is padding or missing; it is
    checked against the phantom's field of view (the disc inscribed in each slice) outside a band
    of one in-plane cell diagonal around the disc's edge;
  * intensities against dcm2niix 0.51 HU: dcm2niix interpolates the same way (linear along the
    rows for tilt, linear between the two nearest slices for uneven spacing) and rounds to int16
    (0.5 HU), plus float32 arithmetic.

  @SRS-ING-024 @RC-051
  Scenario Outline: A <faults> phantom is resampled onto its regular grid in patient coordinates
    Given a noise-free sphere phantom written with the faults "<faults>" and a gantry tilt of <tilt> degrees
    When its slices, read with pydicom, are regularised
    Then the grid's axes are the phantom's row, column and slice normal, orthonormal and right-handed
    And its spacing is the pixel spacing and the smallest slice gap, and its corner voxels lie where the phantom's parameters put them, within 0.001 mm
    And every voxel farther than the interpolation cell's diagonal from the sphere's surface holds the phantom's HU within 0.01 HU, and the others lie between 0 and 1000 HU
    And the padding mask holds the voxels outside the field of view or the acquired slices, each at -1024 HU
    And the record names the reasons "<reasons>", the tilt, the slice positions and the largest displacement the phantom's parameters give, within 0.001 mm

    Examples:
      | faults                        | tilt | reasons                       |
      | gantry-tilt                   | 12   | gantry-tilt                   |
      | gantry-tilt                   | -12  | gantry-tilt                   |
      | variable-spacing              | 0    | variable-spacing              |
      | gantry-tilt, variable-spacing | 12   | gantry-tilt, variable-spacing |

  # dcm2niix takes the direction of its tilt correction from vendor conventions for the sign of
  # Gantry/Detector Tilt (0018,1120), which DICOM calls "not intended for mathematical
  # computations"; for a series without a Manufacturer it shifts toward increasing row index,
  # which is the -12° phantom's shear (with +12° its _Tilt volume misses the phantom, and the
  # first step below would say so).  Corridor uses Image Position (Patient) only.
  @SRS-ING-024 @RC-051
  Scenario Outline: dcm2niix converting the same <faults> series agrees in world coordinates and intensities
    Given a noise-free sphere phantom written with the faults "<faults>" and a gantry tilt of <tilt> degrees
    When its slices, read with pydicom, are regularised
    And dcm2niix converts the same series
    Then dcm2niix's "<suffix>" volume holds the phantom's HU away from the sphere's surface, so it is a valid reference here
    And every voxel centre of the regular grid lies on a voxel centre of dcm2niix's volume within 0.001 mm
    And at every voxel that is not padding the two agree within 0.51 HU

    Examples:
      | faults           | tilt | suffix |
      | gantry-tilt      | -12  | Tilt   |
      | variable-spacing | 0    | Eq     |

  @SRS-ING-025 @RC-051
  Scenario Outline: corridor ingest refuses a <faults> series by default and with --regularize loads it on the regular grid, recorded
    Given a noise-free sphere phantom written with the faults "<faults>" and a gantry tilt of <tilt> degrees
    When the folder is ingested without --regularize
    Then ingest refuses it with the check "<check>" and says "or load it with --regularize"
    When the folder is ingested with --regularize
    Then its spacing is the pixel spacing and the smallest slice gap, and its corner voxels lie where the phantom's parameters put them, within 0.001 mm
    And every voxel farther than the interpolation cell's diagonal from the sphere's surface holds the phantom's HU within 0.01 HU, and the others lie between 0 and 1000 HU
    And the padding mask holds the voxels outside the field of view or the acquired slices, each at -1024 HU
    And the record names the reasons "<reasons>", the tilt, the slice positions and the largest displacement the phantom's parameters give, within 0.001 mm
    And the volume carries the warning "regularized" naming the largest correction
    When corridor ingest --regularize --json is run on the folder
    Then the command's JSON records the regularisation with the volume

    Examples:
      | faults                        | tilt | check            | reasons                       |
      | gantry-tilt, variable-spacing | 12   | gantry-tilt      | gantry-tilt, variable-spacing |
      | variable-spacing              | 0    | variable-spacing | variable-spacing              |

  @SRS-ING-024 @RC-051
  Scenario: A field that is an affine function of position is reproduced exactly, in any orientation
    Given oblique slices shifted in both in-plane directions and unevenly spaced, holding an affine function of position
    When they are regularised
    Then every voxel that is not padding holds the function at its centre within 0.01 HU
    And exactly the voxels whose centre projects outside a slice it needs are padding
    And every acquired voxel centre lies inside the regular grid
    And the HU are float32 laid out like an ingested volume's

  @SRS-ING-024
  Scenario: Resampling runs plane by plane
    Given a tilted int16 stack of 96 x 96 x 40 voxels
    When they are regularised while memory is traced
    Then the memory allocated at the peak is at most 1.5 times the output's HU and padding mask

  @SRS-ING-024
  Scenario Outline: Slices that cannot be regularised are refused, naming the argument
    Given slices with <problem>
    When they are regularised
    Then it is refused with a RegularizationInputError naming "<argument>"

    Examples:
      | problem                          | argument                  |
      | only one slice                   | stack                     |
      | non-finite HU                    | stack                     |
      | positions of the wrong shape     | positions_lps             |
      | two slices at one position       | positions_lps             |
      | positions in decreasing order    | positions_lps             |
      | an orientation that is not unit  | image_orientation_patient |
      | a zero pixel spacing             | pixel_spacing             |
      | a padding mask of another shape  | padding                   |
