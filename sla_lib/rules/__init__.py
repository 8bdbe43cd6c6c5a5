"""The contract as data and the arithmetic on it: the contract file, the hospital calendar, periods, the ticket clocks. Imports nothing of the other layers."""
