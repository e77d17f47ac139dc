"""The real-time performance engine: render ahead, schedule, transport, ducking."""
