"""AMI side of billing: Asterisk's manager interface, used to move a call's hard limit (TIMEOUT(absolute))."""
