package wql

// Query is a parsed WQL SELECT statement.
type Query struct {
	// Properties lists the selected properties; nil means "*".
	Properties []string
	// Class is the class named in FROM.
	Class string
	// Where is the condition, nil when there is no WHERE clause.
	Where Expr
}

// Expr is a node of a WHERE condition.
type Expr interface{ expr() }
