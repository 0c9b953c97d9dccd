Feature: The case report shows the segmentation's uncertainty on the 3-D anatomy
  Not only as contours on slices: the surfaces of the 3-D view are tinted by the uncertainty
  across them (a deep ensemble's mutual information, a single model's entropy), a deep
  ensemble's disagreement near the implant is drawn as a region, with a legend, beside the
  markers where the verdict could flip.

  @SRS-INF-021 @RC-079
  Scenario: The 3-D view tints the surfaces by the ensemble's mutual information where its members disagree
    Given a CT of a bone cylinder with a vessel at 30 mm, and a ring of 700 HU planted in the bone about the planned implant, 4 mm from it
    And an ensemble of two per-voxel members that differ only in the highest vessel intensity, 750 and 600 HU
    When the ensemble segments the CT, its label map is meshed and planned on, and the case report is written, in process
    Then every vertex of the bone and the vessel in the report's 3-D view has the colour the mutual information computed here gives it across the surface
    And the bone is tinted towards cyan beside the segment and keeps its own colour far from it
    And a translucent cyan region surrounds the voxels within 20 mm of the implant's axis where the mutual information computed here reaches 0.25 nats, and no other
    And the legend names the mutual information of the ensemble's 2 members, and a yellow marker stands where the verdict could flip under member-1
