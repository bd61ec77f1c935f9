package cim

import "fmt"

// checkValue reports whether v is a valid Go representation of a value of
// type t (array when array is set). nil is always valid (NULL).
func checkValue(t Type, array bool, v any) error {
	if v == nil {
		return nil
	}
	ok := false
	switch t {
	case Uint8, Uint16, Uint32, Uint64:
		if array {
			_, ok = v.([]uint64)
		} else {
			_, ok = v.(uint64)
		}
	case Sint8, Sint16, Sint32, Sint64:
		if array {
			_, ok = v.([]int64)
		} else {
			_, ok = v.(int64)
		}
	case Real32, Real64:
		if array {
			_, ok = v.([]float64)
		} else {
			_, ok = v.(float64)
		}
	case Boolean:
		if array {
			_, ok = v.([]bool)
		} else {
			_, ok = v.(bool)
		}
	case String, Char16:
		if array {
			switch v.(type) {
			case []string, []*Instance:
				ok = true
			}
		} else {
			switch v.(type) {
			case string, *Instance:
				ok = true
			}
		}
	case DatetimeType:
		if array {
			_, ok = v.([]Datetime)
		} else {
			_, ok = v.(Datetime)
		}
	case Reference:
		if array {
			_, ok = v.([]ObjectPath)
		} else {
			_, ok = v.(ObjectPath)
		}
	}
	if !ok {
		return fmt.Errorf("value of Go type %T does not fit CIM type %s (array %t)", v, t, array)
	}
	return nil
}
