"""Reading the burned-in overlay: layout, OCR engines, grammar and plausibility."""
