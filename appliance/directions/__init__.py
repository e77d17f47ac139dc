"""Performance directions: what people ask for ("softer", "switch to largo") as typed requests."""
