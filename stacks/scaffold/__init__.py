"""`helixflow init`: a stack configuration (`Pulumi.<stack>.yaml`) scaffolded from a template.

The templates are YAML files beside this package (`templates/<name>.yaml`, installed with the wheel):
the parameters a template needs, each with its prompt and default, and the `config:` map of each stack
it writes, in which a value `"{parameter}"` is replaced by the parameter's value (an empty value drops
the key, so the model's default applies). Every stack written is validated by the stack model first.
"""
