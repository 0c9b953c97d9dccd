"""Audit documents generated from the repository: model cards (and the design-history report)."""

from corridor_qms.docs.modelcard import ModelCard, ModelCardError, Section, build_model_card

__all__ = ["ModelCard", "ModelCardError", "Section", "build_model_card"]
