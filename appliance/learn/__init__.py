"""Learning from listeners: tastes at once, fine-tunes in the background (export/finetune)."""
