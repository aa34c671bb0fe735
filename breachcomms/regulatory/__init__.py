"""The regulatory clock: which breach-notification deadlines an incident's customers bring, and when they run out."""
