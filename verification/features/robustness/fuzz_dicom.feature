Feature: DICOM headers damaged at random are refused in one line or loaded whole
  A small valid CT series (24 x 20 x 12 voxels, one file a slice, in Explicit VR Little Endian
  and in RLE Lossless) has the headers of one, a few or all of its files damaged the ways
  files are damaged and the ways a hostile file is made: bytes flipped, cut short, deleted,
  repeated or overwritten; values absurd (image size and pixel description 0 to 65535,
  spacing, position, orientation, thickness and rescale zero, negative, not a number,
  infinite, 1e308 or not numbers, frame counts huge); value lengths huge, VRs changed,
  sequences nested tens of thousands deep. Whatever the damage, corridor ingest exits with 0
  or 2 (its documented statuses) with at most one line on standard error and no warning
  beside it, prints no traceback and no patient name or ID, stays within 256 MiB of Python
  and NumPy allocation and 30 s, writes nothing unless it loads, refuses every value outside
  the physical ranges SRS-ING-028 states, and a load has every slice: a damaged file may be
  left out only when its bytes no longer hold the series' Series Instance UID, and it is
  then named. Every example is new on each run (hypothesis); a defect the sweep found is
  kept as a named scenario below.

  @SRS-ING-028 @RC-054
  Scenario Outline: Damaged headers given to corridor ingest
    Given the small CT series in "<syntax>" with its headers damaged by "<damage>"
    Then each of <count> damaged series given to "corridor <arguments>" exits with 0 or 2 in at most one line, prints no traceback and no patient name or ID, stays within the bounds, writes nothing unless it exits with 0, refuses every value outside the physical ranges, and loads every slice or names the file that lost its Series Instance UID

    Examples:
      | damage                                                                    | syntax                 | count | arguments                        |
      | bytes of the header flipped, cut, deleted, repeated or overwritten        | explicit-little-endian | 200   | ingest dicom                     |
      | an absurd image size, pixel description, geometry, rescale or frame count | explicit-little-endian | 80    | ingest dicom                     |
      | a huge value length, a changed VR or a sequence nested thousands deep     | explicit-little-endian | 30    | ingest dicom                     |
      | any of these                                                              | rle                    | 30    | ingest dicom                     |
      | any of these                                                              | explicit-little-endian | 20    | ingest dicom --export out.nii.gz |

  @SRS-ING-028 @RC-054
  Scenario Outline: Damage the sweep found is refused in one line
    Given the small CT series damaged as found: "<damage>"
    When corridor ingest is given the damaged series
    Then it exits with 2 in one line saying "refused (<check>)", within the bounds and with no traceback

    Examples:
      | damage                                                              | check           |
      | the first slice cut at byte 154, inside the header of (0002,0001)   | unreadable-file |
      | the first slice cut at byte 1387, inside the value of Columns       | unreadable-file |
      | one byte deleted from the tag of (0002,0001) in the first slice     | unreadable-file |
      | a sequence nested 5000 deep in the first slice                      | unreadable-file |
      | Pixel Spacing -1\\-1 in every slice                                 | geometry-range  |
      | Pixel Spacing 1e-9\\1e-9 in every slice                             | geometry-range  |
      | Image Orientation (Patient) 1e308\\0\\0\\0\\1e308\\0 in every slice | orientation     |
      | Rescale Intercept 1e308 in every slice                              | rescale         |
      | Rescale Slope 1e-308 in every slice                                 | rescale         |
      | Columns 1 in every slice                                            | pixel-data      |
      | a control character in the Transfer Syntax UID of the fourth slice  | transfer-syntax |
