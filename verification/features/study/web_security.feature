Feature: The reading web application keeps readers apart and loses no acknowledged answer
  Readers sign in with their personal token and read and answer only their own items; the
  coordinator sees progress, never answers; every answer the server acknowledged is stored, even
  when two readers answer at once or the server is killed. Tried over real HTTP.

  @SRS-STU-010 @RC-097
  Scenario: Sign-in takes a posted token, keeps a strict session cookie and never shows the token
    Given a study of 3 readers served over HTTP
    When a browser signs in with a wrong token
    Then it is refused with 401 and no session cookie, and the worklist and coordinator pages send it to sign in
    When reader-1 signs in with their token
    Then the session cookie is HttpOnly and SameSite=Strict and is not the token
    And no page served to reader-1 holds any token

  @SRS-STU-014 @SRS-STU-011 @RC-096
  Scenario: A reader cannot read, see or answer another reader's items by their keys
    Given a study of 3 readers served over HTTP
    And reader-2 has answered their first item with a marked comment
    When reader-1 requests each of reader-2's items' page, image and answer by its key, and a made-up key
    Then every one of those requests gets 404 and reader-2's answers are unchanged
    And no page served to reader-1 names a case ID, a modality ID, the truth or reader-2's comment

  @SRS-STU-013 @RC-096
  Scenario: The coordinator page refuses readers and shows progress without answers
    Given a study of 3 readers served over HTTP
    And reader-2 has answered their first item with a marked comment
    When reader-1 opens the coordinator page
    Then reader-1 is refused with 403
    When the coordinator signs in
    Then the coordinator page shows reader-2 with 1 done and 5 left in session 1 and no answer

  @SRS-STU-016 @RC-097
  Scenario: Pages are escaped, run no inline script and carry a strict Content-Security-Policy
    Given a study of 3 readers whose first case's alias is markup, served over HTTP
    When reader-1 signs in and opens each page of their first item
    Then every response carries the Content-Security-Policy and the other security headers
    And the alias's markup is shown as text, and no page holds an inline script or a reference to another origin

  @SRS-STU-015 @RC-099
  Scenario: Two readers answering at once both have every answer stored
    Given a study of 3 readers served over HTTP
    When reader-1 and reader-2 answer all of session 1 from two threads at once
    Then every answer of both readers is stored with the values they posted

  @SRS-STU-015 @RC-098
  Scenario: A server killed with SIGKILL while a reader answers keeps every acknowledged answer
    Given a study of 3 readers served by a corridor study serve process
    When reader-1 answers session 1 and the process is killed with SIGKILL after the third acknowledgement
    And the server is started again
    Then every acknowledged answer is stored with the values posted, and reader-1 can go on answering

  @SRS-STU-009 @RC-097
  Scenario: The server listens on loopback by default and warns on any other address
    Given a study of 3 readers
    When corridor study serve is run on it without --host, and then with --host 0.0.0.0
    Then the first listens on 127.0.0.1 port 8000 without a warning, the second prints one warning line
    And 127.0.0.1, ::1 and localhost count as loopback, 0.0.0.0 and 192.168.1.20 do not
