Feature: Properties the analyses must have on any data

  @SRS-VAL-002 @SRS-VAL-003
  Scenario: AUC and the whole analysis are invariant to a monotone transform of the ratings
    Given random MRMC data sets
    Then a random strictly increasing transform of every rating leaves every AUC, F and p-value unchanged

  @SRS-VAL-003
  Scenario: Swapping the modalities flips the sign of the difference and nothing else
    Given random MRMC data sets
    Then analysing the modalities in the other order negates the difference and its CI and leaves F, df, p and the variance components unchanged

  @SRS-VAL-002
  Scenario: The closed-form leave-one-out AUCs equal a brute-force recomputation
    Given random MRMC data sets
    Then every leave-one-case-out AUC equals the AUC recomputed from all pairs without that case

  @SRS-VAL-009 @RC-038
  Scenario: The random-reader random-case test keeps its size under the null
    Given 2000 simulated Roe-Metz studies with equal modalities, 5 readers and 50 positive and 50 negative cases
    Then the rate of p-values below 0.05 lies inside the 99 % binomial interval around 0.05

  @SRS-VAL-011 @RC-038
  Scenario: Power predicted from pilots matches the power of simulated studies
    Given 300 simulated Roe-Metz pilot studies of 5 readers and 100 cases with modality 2 separated by 0.3 more
    When the power of 8 readers and 200 cases to detect the model's true difference is predicted from their mean variance components
    And 1000 studies of 8 readers and 200 cases are simulated under the same alternative
    Then their rate of p-values below 0.05 lies inside the 99 % binomial interval of the predicted power

  @SRS-VAL-012
  Scenario: The model against the readers equals the OR analysis with the model as a modality every reader reads
    Given random MRMC data sets
    Then comparing one modality's first reader, taken as the model, with the other readers equals the two-modality OR analysis in which every reader reads the model's scores

  @SRS-VAL-012 @RC-038
  Scenario: The model against the readers keeps its size when the model is as good as the readers on average
    Given 1000 simulated Roe-Metz studies of one modality read by 5 readers and a model whose expected AUC is the readers'

    Then the rate of model-against-readers p-values below 0.05 lies inside the 99 % binomial interval around 0.05

  @SRS-VAL-016 @RC-038
  Scenario: The split-plot analysis keeps its size under the null
    Given 2000 simulated Roe-Metz split-plot studies of 2 groups of 3 readers, each group reading its own 30 positive and 30 negative cases
    Then the rate of p-values below 0.05 lies inside the 99 % binomial interval around 0.05

  @SRS-VAL-017 @RC-038
  Scenario: The partially paired analysis keeps its size under the null
    Given 2000 simulated Roe-Metz studies of 5 readers and 50 positive and 50 negative cases with 20 % of the readings missing at random
    Then the rate of p-values below 0.05 lies inside the 99 % binomial interval around 0.05

  @SRS-VAL-002
  Scenario: Specificity is sensitivity with the ratings and truth turned round
    Given random MRMC data sets
    Then specificity at threshold T equals sensitivity of the negated ratings of the swapped truth at 1 - T, and so does the whole analysis
