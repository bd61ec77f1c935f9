// Package wql parses and evaluates the WQL subset that WS-Management clients
// send as an enumeration filter (dialect
// http://schemas.microsoft.com/wbem/wsman/1/WQL): SELECT * | prop, ... FROM
// Class [WHERE condition], with comparisons, AND, OR, NOT, parentheses,
// IS [NOT] NULL, LIKE and ISA.
//
// Imports: the standard library only.
package wql
