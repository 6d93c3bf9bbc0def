"""`python -m asteriskbill.cli`: the same as the `asteriskbill` command."""

from asteriskbill.cli import main

main(prog_name="asteriskbill")
