Feature: Every transfer syntax is decoded to pydicom's voxels, or refused by name
  A series in any transfer syntax that pydicom and the codec extras read loads to exactly
  the HU of pydicom's own decode of its files (and, when the syntax is lossless, to the
  phantom's ground truth); a syntax Corridor does not decode, or whose decoder is not
  installed, is refused with its name and UID and what to do, never as a truncated file.
  A file cut short is refused as truncated in every syntax.

  @SRS-ING-018 @RC-049
  Scenario Outline: A lossless series loads to pydicom's decode and to the ground truth
    Given a "pelvis" phantom of shape 32 32 4 with spacing 8.0 8.0 10.0 in position "HFS" and orientation "axial"
    And it is written as a DICOM series in the transfer syntax "<syntax>"
    When the series is ingested
    Then the volume's HU equal pydicom's own decode of every image
    And the volume's HU equal the ground truth on every voxel that is not padding
    And the padding mask covers exactly the voxels outside the reconstruction field of view
    And only Explicit VR Little Endian headers were read without pydicom
    And only little-endian native pixels were taken from the file's bytes without pydicom
    And the volume carries no warning "lossy-compression"

    Examples:
      | syntax                 |
      | explicit-little-endian |
      | implicit-little-endian |
      | explicit-big-endian    |
      | deflated               |
      | rle                    |
      | jpeg-lossless          |
      | jpeg-lossless-sv1      |
      | jpegls-lossless        |
      | jpeg2000-lossless      |

  @SRS-ING-018 @RC-049
  Scenario Outline: A lossy series loads to pydicom's decode
    Given a "pelvis" phantom of shape 32 32 4 with spacing 8.0 8.0 10.0 in position "HFS" and orientation "axial"
    And it is written as a DICOM series in the transfer syntax "<syntax>"
    When the series is ingested
    Then the volume's HU equal pydicom's own decode of every image
    And the volume's HU are not the ground truth, as the codec is lossy
    And the volume carries the warning "lossy-compression"

    Examples:
      | syntax               |
      | jpegls-near-lossless |
      | jpeg2000             |

  @SRS-ING-018 @RC-049
  Scenario Outline: An Enhanced CT file loads to the ground truth
    Given a "pelvis" phantom of shape 32 32 4 with spacing 8.0 8.0 10.0 in position "FFS" and orientation "oblique"
    And it is written as an Enhanced CT file in the transfer syntax "<syntax>"
    When the series is ingested
    Then the volume's corners lie within 0.001 mm of the ground truth
    And the volume's HU equal the ground truth on every voxel that is not padding

    Examples:
      | syntax              |
      | explicit-big-endian |
      | deflated            |
      | jpeg-lossless-sv1   |

  @SRS-ING-018 @RC-049
  Scenario Outline: A syntax whose decoder is not installed is refused naming it, never as truncated
    Given a "pelvis" phantom of shape 32 32 4 with spacing 8.0 8.0 10.0 in position "HFS" and orientation "axial"
    And it is written as a DICOM series in the transfer syntax "<syntax>"
    And pydicom has no decoder plugin for "<uid>"
    When I run corridor ingest on the series
    Then the exit status is 2
    And standard error is one line containing "refused (transfer-syntax): no decoder for <name> (<uid>) is installed"
    And standard error says what to do: "pip install 'corridor[codecs]'"
    And standard error does not say "truncated"

    Examples:
      | syntax            | uid                    | name                                                                                      |
      | jpeg-lossless-sv1 | 1.2.840.10008.1.2.4.70 | JPEG Lossless, Non-Hierarchical, First-Order Prediction (Process 14 [Selection Value 1]) |
      | jpeg2000-lossless | 1.2.840.10008.1.2.4.90 | JPEG 2000 Image Compression (Lossless Only)                                               |

  @SRS-ING-018 @RC-049
  Scenario: A syntax Corridor does not decode is refused naming it, never as truncated
    Given a "pelvis" phantom of shape 32 32 4 with spacing 8.0 8.0 10.0 in position "HFS" and orientation "axial"
    And it is written as a DICOM series
    And every image's pixel data are re-encoded in Deflated Image Frame Compression
    When I run corridor ingest on the series
    Then the exit status is 2
    And standard error is one line containing "refused (transfer-syntax): the pixel data are in a transfer syntax Corridor does not decode; found Deflated Image Frame Compression (1.2.840.10008.1.2.8.1)"
    And standard error says what to do: "export the series uncompressed (Explicit VR Little Endian)"
    And standard error does not say "truncated"

  @SRS-ING-018 @RC-049
  Scenario Outline: A slice file cut short is refused as truncated in every syntax
    Given a "pelvis" phantom of shape 64 64 4 with spacing 4.0 4.0 10.0 in position "HFS" and orientation "axial"
    And it is written as <layout> in the transfer syntax "<syntax>" with the faults "truncated-file"
    When the series is ingested
    Then ingest refuses with the check "truncated-file"
    And the refusal names the truncated file

    Examples:
      | syntax                 | layout             |
      | implicit-little-endian | a DICOM series     |
      | explicit-big-endian    | a DICOM series     |
      | deflated               | a DICOM series     |
      | deflated               | an Enhanced CT file |
      | rle                    | a DICOM series     |
      | rle                    | an Enhanced CT file |
      | jpeg-lossless-sv1      | a DICOM series     |
      | jpegls-lossless        | a DICOM series     |
      | jpeg2000-lossless      | a DICOM series     |
