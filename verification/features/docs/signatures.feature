Feature: Approvals of a release by electronic signature
  A release is approved by named roles (quality, engineering lead, clinical), each with a
  signature record in the spirit of 21 CFR Part 11: signer, role, meaning, UTC time, the
  SHA-256 of exactly what was signed, the signer's own Ed25519 public key and its fingerprint,
  and an SSHSIG signature over all of them. `corridor docs sign` writes it, `corridor docs
  verify-signatures` checks it, and the design-history report shows each signature VALID or
  INVALID on its approvals page.

  @SRS-DOC-009 @RC-083
  Scenario: Three approvals of a folder verify with the command and with ssh-keygen
    Given a content folder and keys for the quality, engineering-lead and clinical signers in the allowed-signers list
    When each signer signs the content folder as "approved"
    Then verify-signatures exits 0 listing 3 VALID signatures
    And each record's content SHA-256 is that of the folder's sha256sum listing computed here
    And each record's fingerprint is the one ssh-keygen -l prints for its key
    And ssh-keygen -Y verify accepts each record's signature over its fields as built here
    And ssh-keygen -Y sign with the same key over the same fields makes each record's signature byte for byte

  @SRS-DOC-009 @RC-083
  Scenario: Content edited after signing is invalid, naming both digests
    Given a content folder and keys for the quality, engineering-lead and clinical signers in the allowed-signers list
    And each signer signs the content folder as "approved"
    When a file of the content folder is edited
    Then verify-signatures exits 1 with 3 "INVALID: content changed" naming the signed and the current SHA-256

  @SRS-DOC-009 @RC-083
  Scenario: A record whose role was changed after signing does not verify
    Given a content folder and keys for the quality, engineering-lead and clinical signers in the allowed-signers list
    And each signer signs the content folder as "approved"
    When the quality signer's record has its role changed to "clinical"
    Then verify-signatures exits 1 with 1 "INVALID: signature does not verify"
    And it reports "MISSING  no valid 'approved' signature in the role quality"

  @SRS-DOC-009 @RC-083
  Scenario: A key not in the allowed-signers list, or outside its role, is refused
    Given a content folder and keys for the quality, engineering-lead and clinical signers in the allowed-signers list
    And each signer signs the content folder as "approved"
    And a signer whose key is not in the list signs the content folder as quality "reviewed"
    And the clinical signer signs the content folder as quality "reviewed"
    Then verify-signatures exits 1 with 2 "INVALID: key not allowed"
    And it names the unlisted key's fingerprint as "not in the allowed-signers list"

  @SRS-DOC-009
  Scenario: Missing approvals, a passphrase-protected key, and refused input
    Given a content folder and keys for the quality, engineering-lead and clinical signers in the allowed-signers list
    When the quality signer's key is saved encrypted with the passphrase "correct horse"
    And the quality signer signs the content folder as "approved" with the passphrase "correct horse" in the environment
    Then verify-signatures exits 1 with 1 VALID signature
    And it reports "MISSING  no valid 'approved' signature in the role engineering-lead"
    And signing with the passphrase "wrong" in the environment exits 2 writing nothing
    And signing as role "ceo" exits 2 naming "--role: found 'ceo', expected one of quality, engineering-lead, clinical"
    And signing into a folder inside the content exits 2 naming "inside the signed content"

  @SRS-DOC-010 @RC-083
  Scenario: The design-history report shows each signature VALID or INVALID, the signer's name as text
    Given a copy of the minimal project and keys for the quality, engineering-lead and clinical signers in the allowed-signers list
    When its design-history report is written with --draft
    And the quality signer, named "Ada <b>Lovelace</b> & Co", signs its design-history.sha256 as "approved"
    And a requirement of the copy is edited
    And its design-history report is written with --draft
    And the engineering-lead signer signs its new design-history.sha256 as "approved"
    And its design-history report is written with --draft and the signatures
    Then the content manifest lists every record, feature and plan of the copy with the SHA-256 computed here
    And the signatures did not change the content manifest
    And the approvals page shows "Ada <b>Lovelace</b> & Co" as text, quality approved, INVALID: content changed
    And the approvals page shows the engineering-lead signer VALID with the key fingerprint ssh-keygen -l prints
    And the report lists the gap "approvals: no valid approval by quality, clinical"
