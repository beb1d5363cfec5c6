"""The journey definition (the YAML schema), the engine's state, stimuli and the API's answers."""
