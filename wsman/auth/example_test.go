package auth_test

import (
	"fmt"
	"log"
	"net/http/httptest"
	"os"
	"path/filepath"

	"github.com/vsmig/vsmig/wsman/auth"
)

// ExampleAddUser shows what `vsmigd user add` does: hash the password
// with bcrypt and store it in the users file, which a running BasicFile
// picks up within a second.
func ExampleAddUser() {
	dir, _ := os.MkdirTemp("", "vsmig")
	defer os.RemoveAll(dir)
	users := filepath.Join(dir, "users")

	hash, err := auth.HashPassword("correct horse battery staple")
	if err != nil {
		log.Fatal(err)
	}
	if err := auth.AddUser(users, "operator", hash); err != nil {
		log.Fatal(err)
	}

	basic, err := auth.NewBasicFile(auth.BasicFileConfig{Path: users})
	if err != nil {
		log.Fatal(err)
	}
	r := httptest.NewRequest("POST", "https://host:5986/wsman", nil)
	r.SetBasicAuth("operator", "correct horse battery staple")
	user, err := basic.Authenticate(r)
	fmt.Println(user, err)
	// Output: operator <nil>
}
