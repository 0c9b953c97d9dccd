"""Verification of the PACS integration (``corridor.pacs``): the DICOM result objects a planned
case is stored back into its CT's study as."""
