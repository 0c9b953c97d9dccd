Feature: Every record names the exact software that made it
  The software's identity (version, commit, dirty flag, build kind) is stamped into the
  package when it is built or installed, from the project's own repository only, and every
  record carries it. A release build needs a clean commit, and a release stamp without a
  commit refuses to run.

  @SRS-FND-002 @RC-048
  Scenario: The installed stamp names the commit git reports for this repository
    Given the installed software identity
    Then its commit is the repository's HEAD as git reports it, or the tree is no git checkout

  @SRS-FND-002 @RC-048
  Scenario: A release build is stamped only from a clean checkout of the project's own repository
    Given a copy of the project's build files committed to a new git repository
    When the stamp is written for a release build
    Then the stamp says "release" with the copy's HEAD commit and not dirty
    When a tracked file of the copy is changed and the stamp is written for a release build
    Then the release build is refused naming the dirty checkout

  @SRS-FND-002 @RC-048
  Scenario: A copy inside another repository stamps no commit rather than the wrong one
    Given a copy of the project's build files inside another git repository
    When the stamp is written for a development build
    Then the stamp names no commit

  @SRS-FND-002 @RC-048
  Scenario: A release stamp without a commit refuses to run
    Given the installed stamp says "release" with no commit
    When corridor ingest is run on a folder
    Then it exits with status 4 naming "release build with no commit"
