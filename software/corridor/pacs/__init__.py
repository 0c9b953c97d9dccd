"""The hospital integration: CT studies found in a PACS over DICOMweb, planned, and the plan
stored back into the same study as standard DICOM objects (``corridor serve``)."""
