Feature: Continuous planning endpoints by a mixed model

  @SRS-VAL-014
  Scenario: On balanced data the mixed model gives the closed-form contrast and SE
    Given balanced simulated angular errors of random readers and cases in modalities "aided" and "unaided"
    Then for each whose ANOVA component estimates are all positive the mixed model's difference equals the difference of the modality means and its SE equals the ANOVA closed form within 0.5 %

  @SRS-VAL-014 @SRS-VAL-006
  Scenario: Superiority and non-inferiority from the command line
    Given simulated angular errors where "aided" is 1 degree lower than "unaided", saved as a long CSV
    When corridor validate continuous is run on it with "--test aided --reference unaided --margin 0.5 --json"
    Then the one-sided superiority and non-inferiority p-values are the normal tail probabilities of the difference and SE it reports
    And aided is superior at one-sided 0.025

  @SRS-VAL-014
  Scenario: A missing measurement is refused
    Given simulated angular errors where "aided" is 1 degree lower than "unaided", saved as a long CSV without its last row
    When corridor validate continuous is run on it with "--test aided --reference unaided"
    Then it exits with status 2, naming "have no value"
