module toykv-example

go 1.24

require toykv v0.0.0

// The binding from this repository; a program elsewhere points this at its checkout.
replace toykv => ../../bindings/go
