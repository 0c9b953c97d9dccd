Feature: The device's layers, checked on every change
  The dependency direction of the architecture is written as import-linter contracts in
  pyproject.toml and checked by `lint-imports` in `tox -e lint`. Each scenario checks a copy of
  software/ with the same contracts, so a planted import never touches the real source.

  @SRS-ARC-001
  Scenario: The source as it is keeps every contract
    Given a copy of the software and its import contracts
    When I check the imports of the copy
    Then the check passes and keeps every contract

  @SRS-ARC-001
  Scenario Outline: An import against the architecture breaks the contract that forbids it
    Given a copy of the software and its import contracts
    And the line "<line>" added to "<module>" in the copy
    When I check the imports of the copy
    Then the check fails with the contract "<contract>" broken
    And the report names the import of "<imported>" by "<importer>"

    Examples:
      | module                       | line                                     | contract               | importer                 | imported                |
      | corridor/ingest/api.py       | import corridor.case.job                 | device-layers          | corridor.ingest.api      | corridor.case.job       |
      | corridor/geometry/model.py   | from corridor.images import LabelMap     | device-layers          | corridor.geometry.model  | corridor.images         |
      | corridor/errors.py           | from corridor.staging import staged_folder | device-layers        | corridor.errors          | corridor.staging        |
      | corridor/planning/regions.py | import corridor.inference                | label-map-consumers    | corridor.planning.regions | corridor.inference     |
      | corridor/meshing/api.py      | from corridor.ingest.model import Volume | label-map-consumers    | corridor.meshing.api     | corridor.ingest.model   |
      | corridor/staging.py          | import corridor_qms                      | device-without-tooling | corridor.staging         | corridor_qms            |
      | corridor/inference/api.py    | import corridor_phantoms                 | device-without-tooling | corridor.inference.api   | corridor_phantoms       |
      | corridor/images/model.py     | import training.train_reference          | device-without-tooling | corridor.images.model    | training                |

  @SRS-ARC-001
  Scenario: A new part of the device that is in no layer breaks the layers contract
    Given a copy of the software and its import contracts
    And a new module "corridor/viewer.py" in the copy
    When I check the imports of the copy
    Then the check fails with the contract "device-layers" broken
    And the report lists "corridor.viewer" as not in any layer
