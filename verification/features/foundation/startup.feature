Feature: A subcommand's libraries load only when that subcommand runs
  The command imports only the chosen subcommand's module, so `corridor --version` and
  `corridor ingest` start without ONNX Runtime, VTK or the quality tooling. The timings are
  measured by verification/benchmarks/bench_startup.py (RESULTS.md).

  @SRS-CLI-002
  Scenario: corridor --version imports no subcommand
    When "corridor --version" runs in a fresh interpreter
    Then it printed the version and no subcommand module was imported

  @SRS-CLI-002
  Scenario: corridor ingest --help imports neither inference, planning, VTK nor the tooling
    When "corridor ingest --help" runs in a fresh interpreter
    Then none of onnxruntime, vtkmodules, corridor_qms, corridor.inference, corridor.planning, corridor.meshing was imported

  @SRS-CLI-002
  Scenario: The subcommands the command finds are the entry points the installed distribution declares
    When the command's subcommand table is read
    Then it equals the corridor.commands entry points of the installed corridor distribution
