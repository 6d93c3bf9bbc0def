"""AGI: our own codec (protocol), the application API (channel), two transports (server: FastAGI,
stdio: agi-bin scripts) and a fake Asterisk (peer). Nothing is imported here, so an agi-bin script
loads only what it uses."""
