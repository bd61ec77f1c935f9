// Package schemas holds the MOF class definitions vsmig's object model is
// built from: the subset of the DMTF CIM Schema that the Virtual System
// Migration Profile (DSP1081), its scoping profiles (DSP1042 System
// Virtualization, DSP1057 Virtual System), Job Control (DSP1103) and the
// lifecycle indications (CIM::Event) use, vsmig's own VSMIG_MigrationJob
// and its cluster classes (VSMIG_Fleet.mof). The MOF files are the single source of truth
// for class names, keys, types, value maps and method signatures; they
// are embedded in the binary and parsed at start-up.
//
// Imports: the standard library, cim and cim/mof.
package schemas

import (
	"embed"
	"fmt"
	"io/fs"

	"github.com/vsmig/vsmig/cim"
	"github.com/vsmig/vsmig/cim/mof"
)

//go:embed *.mof
var files embed.FS

// Load parses every embedded MOF file and resolves the classes into a
// registry. An error names the file, line and column of the problem.
func Load() (cim.Registry, error) {
	return LoadFS(files)
}

// LoadFS is Load for the *.mof files at the root of fsys, for tests and
// for deployments that extend the schema.
func LoadFS(fsys fs.FS) (cim.Registry, error) {
	names, err := fs.Glob(fsys, "*.mof")
	if err != nil {
		return nil, fmt.Errorf("schemas: %w", err)
	}
	var classes []*cim.Class
	for _, name := range names {
		src, err := fs.ReadFile(fsys, name)
		if err != nil {
			return nil, fmt.Errorf("schemas: %w", err)
		}
		cs, err := mof.ParseClasses(name, src)
		if err != nil {
			return nil, fmt.Errorf("schemas: %w", err)
		}
		classes = append(classes, cs...)
	}
	reg, err := cim.NewRegistry(classes...)
	if err != nil {
		return nil, fmt.Errorf("schemas: %w", err)
	}
	return reg, nil
}

// MustLoad is Load for program start-up and tests: the embedded schema is
// part of the binary, so an error is a bug and MustLoad panics.
func MustLoad() cim.Registry {
	reg, err := Load()
	if err != nil {
		panic(err)
	}
	return reg
}
