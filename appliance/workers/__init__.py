"""Heavy inference (speech recognition, the language model, later vision) in processes of its
own, supervised: a crash or a hang costs one answer, never the music."""
