"""Speech-driven expressive animation: audio + one of 7 emotions → a talking face."""
