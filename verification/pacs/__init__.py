"""Verification of the PACS integration (``corridor.pacs``): the DICOMweb client and its
configuration, against a real Orthanc PACS the tests start (:mod:`verification.pacs.orthanc`),
and the DICOM result objects a planned case is stored back into its CT's study as."""
