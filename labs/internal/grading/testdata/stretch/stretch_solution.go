//go:build solution

package main

import "fmt"

func main() { fmt.Println("solution") }
