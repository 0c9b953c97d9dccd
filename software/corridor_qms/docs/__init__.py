"""Audit documents generated from the repository: model cards (and the design-history report;
the SBOM is :mod:`corridor_qms.sbom`)."""

from corridor_qms.docs.modelcard import ModelCard, ModelCardError, Section, build_model_card

__all__ = ["ModelCard", "ModelCardError", "Section", "build_model_card"]
