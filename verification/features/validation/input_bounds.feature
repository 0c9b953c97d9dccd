Feature: Validation inputs are read within stated bounds, or refused in one line
  corridor validate reads reader, agreement, continuous and pilot data (CSV) and study
  definitions (YAML) only when each is a regular file within its stated size: a CSV at most
  16 MiB, 64 columns and 250,000 data rows (counted while reading), a study definition at most
  256 KiB; each is decoded as UTF-8, and a definition parsed only when nested at most 16 levels
  (checked on the YAML events, before any node is built). The ratings array is allocated only
  for at most 10,000,000 modality x reader x case cells. Anything else is refused with exit
  status 2 and one line naming the file, what was found and what was expected, within 256 MiB of
  Python and NumPy allocation and 30 s, writing nothing.

  @SRS-VAL-020 @RC-054
  Scenario Outline: A validation input outside its bounds is refused in one line, within bounded memory
    Given <input> that is <damage>
    When corridor validate <analysis> reads it
    Then it exits with status 2 and one line naming "<named>", within the bounds and writing nothing

    Examples:
      | input              | damage                                               | analysis   | named                                                                    |
      | reader data        | /dev/zero behind the name                            | mrmc       | CSV file: found not a regular file (a device, pipe or folder)            |
      | reader data        | a folder                                             | mrmc       | CSV file: found not a regular file (a device, pipe or folder)        |
      | reader data        | 17 MiB long                                          | mrmc       | CSV file: found 17825792 bytes, expected at most 16777216 bytes          |
      | reader data        | Latin-1, not UTF-8                                   | mrmc       | byte 36 (0xe9) is not UTF-8; expected UTF-8 text                         |
      | reader data        | a header of 100 columns                              | mrmc       | 100 columns in the header; expected at most 64                           |
      | reader data        | 250,001 rows long                                    | mrmc       | more than 250000 data rows; expected at most 250000                      |
      | reader data        | 300 readers, modalities and cases, one reading each  | mrmc       | make 27000000 cells; expected at most 10000000                           |
      | agreement data     | /dev/zero behind the name                            | agreement  | CSV file: found not a regular file (a device, pipe or folder)            |
      | continuous data    | /dev/zero behind the name                            | continuous | CSV file: found not a regular file (a device, pipe or folder)            |
      | pilot data         | /dev/zero behind the name                            | size       | CSV file: found not a regular file (a device, pipe or folder)            |
      | a study definition | /dev/zero behind the name                            | study      | study definition: found not a regular file (a device, pipe or folder)    |
      | a study definition | 300 KiB long                                         | study      | study definition: found 307200 bytes, expected at most 262144 bytes      |
      | a study definition | nested 100,000 deep                                  | study      | nested more than 16 deep (line 1); expected at most 16 levels            |
      | a study definition | UTF-16 with a byte-order mark                        | study      | byte 0 (0xff) is not UTF-8; expected UTF-8 text                          |
      | a study definition | holding the date 2001-13-01                          | study      | a YAML value that cannot be read: month must be in 1..12                 |
      | a study definition | holding a number of 5,000 digits                     | study      | a YAML value that cannot be read: Exceeds the limit (4300 digits)        |
      | a study definition | naming /dev/zero as its data                         | study      | CSV file: found not a regular file (a device, pipe or folder)            |
