Feature: Continuous planning endpoints by a mixed model

  @SRS-VAL-014 @PR-002 @PR-004
  Scenario: On balanced data the mixed model gives the closed-form contrast, SE and components
    Given balanced simulated angular errors of random readers and cases in modalities "aided" and "unaided"
    Then for each whose ANOVA component estimates are all positive the mixed model's difference equals the difference of the modality means, its SE the ANOVA closed form and each variance component its ANOVA estimate, within 1e-9

  @SRS-VAL-014 @PR-002
  Scenario: On a small balanced study with a variance component estimated at zero the fit is statsmodels MixedLM's
    Given balanced simulated angular errors of 4 readers and 8 cases whose ANOVA estimate of a variance component is negative
    When the mixed model is fitted to them and statsmodels MixedLM is fitted to them
    Then the restricted log-likelihood, computed densely, is at least MixedLM's, the components MixedLM puts at zero are zero, and the difference and SE are MixedLM's within 0.5 % of the SE

  @SRS-VAL-014 @PR-002
  Scenario: With missing readings the fit is statsmodels MixedLM's
    Given simulated angular errors of 4 readers and 10 cases without 4 of their readings
    When the mixed model is fitted to them and statsmodels MixedLM is fitted to them
    Then the restricted log-likelihood, computed densely, is at least MixedLM's, the components MixedLM puts at zero are zero, and the difference and SE are MixedLM's within 0.5 % of the SE

  @SRS-VAL-014 @SRS-VAL-006 @PR-002
  Scenario: Superiority and non-inferiority from the command line
    Given simulated angular errors where "aided" is 1 degree lower than "unaided", saved as a long CSV
    When corridor validate continuous is run on it with "--test aided --reference unaided --margin 0.5 --json"
    Then the one-sided superiority and non-inferiority p-values are the normal tail probabilities of the difference and SE it reports
    And aided is superior at one-sided 0.025

  @SRS-VAL-023 @PR-002
  Scenario: A pivotal study of 10 readers and 200 cases is analysed in seconds
    Given simulated angular errors of 10 readers and 200 cases where "aided" is 1 degree lower than "unaided", saved as a long CSV
    When corridor validate continuous is run on it with "--test aided --reference unaided --json" and timed
    Then it exits with status 0 within 10 s
    And the SE it reports is the ANOVA closed form within 1e-9

  @SRS-VAL-014
  Scenario: A missing measurement is refused
    Given simulated angular errors where "aided" is 1 degree lower than "unaided", saved as a long CSV without its last row
    When corridor validate continuous is run on it with "--test aided --reference unaided"
    Then it exits with status 2, naming "have no value"
