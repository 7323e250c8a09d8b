"""The knowledge base: articles about inburgering, written per language, each with its source."""
