"""Post-training (SFT) of GR00T N1.5 on demonstrations: samples through the actor's input code
(:mod:`.samples`), the trainable set and optimizer (:mod:`.trainer`), the published checkpoint folder
(:mod:`.export`); the command is ``python -m isaaclab_gr00t.gr00t.finetune``."""
