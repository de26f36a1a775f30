"""The values file: an environment's helm values, edited byte for byte.

    yamltext.py       the byte-exact editor: parse to find a value's characters, replace them
    image_keys.py     which keys make a chart pull a module's image, and the fixes to them
    edit_check.py     the last word on an edit: the file reads as before, but for our keys,
                      with both a YAML 1.1 and a YAML 1.2 reader
    merge.py          `shipspec values`: the spec's images merged into an environment's file

`bump` writes tags through the same editor and check (bump/targets/).
Nothing is imported here, so that a verb pays only for the modules it uses.
"""
