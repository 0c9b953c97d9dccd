Feature: Model packages are verified before anything runs
  A model runs only from a package whose ONNX bytes match the SHA-256 its strict manifest
  pins, and whose graph agrees with what the manifest says about it.

  @SRS-INF-001 @RC-020
  Scenario Outline: A manifest with an invalid field is refused, naming the field
    Given a valid model package of a per-voxel threshold model
    And its manifest's "<field>" is set to <value>
    When the package is loaded
    Then loading is refused naming "<named>"

    Examples:
      | field            | value                                                    | named            |
      | input_spacing_mm | [2.0, 0.0, 2.0]                                          | input_spacing_mm |
      | output_kind      | "scores"                                                 | output_kind      |
      | colour           | "blue"                                                   | colour           |
      | labels           | [{"index": 0, "name": "background"}, {"index": 2, "name": "object"}] | labels |
      | labels           | [{"index": 0, "name": "background"}, {"index": 1, "name": "object"}] | labels |

  @SRS-INF-001 @RC-020
  Scenario: A manifest without its hash is refused
    Given a valid model package of a per-voxel threshold model
    And its manifest's "sha256" is removed
    When the package is loaded
    Then loading is refused naming "sha256"

  @SRS-INF-002 @RC-020
  Scenario: One changed byte in the ONNX file is refused
    Given a valid model package of a per-voxel threshold model
    And one byte of its ONNX file is changed
    When the package is loaded
    Then loading is refused naming "sha256"
    And the refusal names the digest of the changed file

  @SRS-INF-002 @RC-020
  Scenario: The bytes that run are the bytes that were hashed
    Given a valid model package of a per-voxel threshold model
    When the package is loaded
    Then the package's ONNX bytes hash to the manifest's SHA-256

  @SRS-INF-003 @RC-020
  Scenario Outline: A graph that contradicts its manifest is refused
    Given a model package whose graph <graph> and whose manifest <manifest>
    When the package is loaded
    Then loading is refused naming "<named>"

    Examples:
      | graph                      | manifest              | named           |
      | has 3 output labels        | names 2 labels        | output labels   |
      | has a fixed patch of 8     | states a patch of 16  | input size      |
      | imports opset 17           | states opset 13       | opset           |

  @SRS-INF-014 @RC-020
  Scenario: corridor model inspect verifies the shipped reference model
    When I run corridor model inspect on the reference model
    Then the command exits with status 0
    And it prints "verdict: VERIFIED" and the reference model's SHA-256

  @SRS-INF-014 @RC-020
  Scenario: corridor model inspect refuses an altered package
    Given a valid model package of a per-voxel threshold model
    And one byte of its ONNX file is changed
    When I run corridor model inspect on that package
    Then the command exits with status 2
    And it prints "verdict: REFUSED" and "sha256"

  @SRS-INF-017 @RC-054
  Scenario Outline: A hostile model package is refused in one line, before anything large is read
    Given a valid model package of a per-voxel threshold model
    And its <file> is replaced by <hostile>
    When I run corridor model inspect on that package
    Then the command exits with status 2
    And it prints "verdict: REFUSED" and "<named>"
    And no traceback is printed

    Examples:
      | file      | hostile                                          | named                   |
      | manifest  | a link to /dev/zero                              | not a regular file      |
      | ONNX file | a link to /dev/zero                              | not a regular file      |
      | manifest  | 2 MiB of valid JSON                              | at most 1048576 bytes   |
      | manifest  | an array nested 100000 levels deep               | nested 100000 deep      |
      | manifest  | its own text encoded in UTF-16                   | not UTF-8 text          |
