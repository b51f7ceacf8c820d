"""The prompt format: the contract training, the model and the tasks share.

`prompts` builds prompts and targets and parses outputs, `literals` masks literals and names
as placeholders, `statements` finds the logical statement at a cursor. This package sits below
the model and the tasks: it imports neither (only the gate's pure parsing helpers).
"""
