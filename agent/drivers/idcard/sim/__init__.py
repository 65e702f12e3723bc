"""A SAM reader simulator on a pty pair, for tests, the benchmark, the demo and ``sitewatch simulate idcard``.

cards    generated test identities and cards (never a real person)
model    pure: what a reader answers to a request, given its card and fault
script   pure: which card is on the reader and which fault is on at a given time
pty      the pty server: reads requests, writes the model's answers paced at the baud rate
"""
