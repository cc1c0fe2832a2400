package config

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"strings"

	toml "github.com/pelletier/go-toml/v2"
)

// Load reads home/config/config.toml strictly: an unknown key, a value of the wrong type
// or a bad value is an error naming the key. Keys missing from the file keep their
// defaults, so an older file keeps working when a key is added.
func Load(home string) (*Config, error) {
	cfg := Default()
	cfg.Home = home
	path := cfg.ConfigFile()
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read config: %w (run `tutti init --home %s` to create it)", err, home)
	}
	if err := Decode(data, cfg); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return cfg, nil
}

// Decode parses config.toml bytes over cfg and validates the result.
func Decode(data []byte, cfg *Config) error {
	dec := toml.NewDecoder(bytes.NewReader(data)).DisallowUnknownFields()
	if err := dec.Decode(cfg); err != nil {
		var strict *toml.StrictMissingError
		if errors.As(err, &strict) {
			var keys []string
			for _, e := range strict.Errors {
				keys = append(keys, strings.Join(e.Key(), "."))
			}
			return fmt.Errorf("unknown config key %s", strings.Join(keys, ", "))
		}
		var derr *toml.DecodeError
		if errors.As(err, &derr) {
			row, col := derr.Position()
			key := strings.Join(derr.Key(), ".")
			if key != "" {
				return fmt.Errorf("config key %s (line %d, column %d): %s", key, row, col, derr.Error())
			}
			return fmt.Errorf("line %d, column %d: %s", row, col, derr.Error())
		}
		return err
	}
	return cfg.Validate()
}

// Write renders cfg to home/config/config.toml with a comment on every key.
func Write(cfg *Config) error {
	if err := os.MkdirAll(cfg.Path(DefaultConfigDir), 0o700); err != nil {
		return err
	}
	var buf bytes.Buffer
	if err := render(&buf, cfg); err != nil {
		return err
	}
	return os.WriteFile(cfg.ConfigFile(), buf.Bytes(), 0o600)
}
