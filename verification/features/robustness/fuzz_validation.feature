Feature: Damaged validation-study inputs, fed at random to corridor validate, are refused cleanly or analysed whole
  The validation tooling reads reader data (MRMC), agreement, continuous and pilot data (CSV)
  and study definitions (YAML). Each family starts from a valid file and is damaged the ways
  files are damaged: lines dropped, repeated or swapped, characters and bytes inserted or
  flipped, the file cut short, cells set to NaN, infinities, negative, huge or unknown values,
  a byte-order mark and CRLF added, far too many columns or repeated lines; a definition's values replaced
  by other types or absurd numbers, or nested. Whatever the damage, corridor validate exits 0
  (analysed) or 2 (refused in one line), never 70, prints no traceback, stays within 256 MiB of
  Python and NumPy allocation and 30 s a run, and writes nothing unless it exits 0. Every
  example is new on each run (hypothesis); a defect the sweep found is kept as a named example.

  @SRS-VAL-020 @SRS-VAL-019 @RC-054
  Scenario Outline: Damaged <family> given to corridor <command>
    Given valid <family> and what corridor <command> needs beside them
    Then each of <count> damaged <family> exits with one of <statuses>, prints no traceback, stays within the bounds and writes nothing unless it exits with <writes>

    Examples:
      | family            | command                     | statuses | writes | count |
      | reader data       | validate mrmc               | 0 2      | 0      | 50    |
      | agreement data    | validate agreement          | 0 2      | 0      | 40    |
      | continuous data   | validate continuous         | 0 2      | 0      | 12    |
      | pilot data        | validate size               | 0 2      | 0      | 30    |
      | study definitions | validate study              | 0 2      | 0      | 10    |
