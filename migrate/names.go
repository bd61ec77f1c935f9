package migrate

import "strconv"

// String methods for logs and reasons.

func (t Type) String() string {
	switch t {
	case Live:
		return "live"
	case Resume:
		return "resume"
	case Restart:
		return "restart"
	}
	return "type(" + strconv.Itoa(int(t)) + ")"
}

func (t Transport) String() string {
	switch t {
	case SSH:
		return "ssh"
	case TLS:
		return "tls"
	case TLSStrict:
		return "tls-strict"
	case TCP:
		return "tcp"
	}
	return "transport(" + strconv.Itoa(int(t)) + ")"
}

func (s DomainState) String() string {
	switch s {
	case StateRunning:
		return "running"
	case StatePaused:
		return "paused"
	case StateShutoff:
		return "shut off"
	case StateCrashed:
		return "crashed"
	}
	return "in an unknown state"
}

func (s Status) String() string {
	switch s {
	case StatusQueued:
		return "queued"
	case StatusStarting:
		return "starting"
	case StatusRunning:
		return "running"
	case StatusCompleted:
		return "completed"
	case StatusFailed:
		return "failed"
	case StatusCancelled:
		return "cancelled"
	case StatusKilled:
		return "killed"
	}
	return "status(" + strconv.Itoa(int(s)) + ")"
}

func (s Stop) String() string {
	switch s {
	case StopNone:
		return "none"
	case StopTerminate:
		return "terminate"
	case StopKill:
		return "kill"
	}
	return "stop(" + strconv.Itoa(int(s)) + ")"
}

func (l Location) String() string {
	switch l {
	case LocationSource:
		return "source"
	case LocationDestination:
		return "destination"
	case LocationBoth:
		return "both"
	case LocationNowhere:
		return "nowhere"
	}
	return "unknown"
}

func (k ActionKind) String() string {
	switch k {
	case ActNothing:
		return "nothing"
	case ActRaiseDowntime:
		return "raise-downtime"
	case ActAutoConverge:
		return "auto-converge"
	case ActPostCopy:
		return "post-copy"
	case ActAbort:
		return "abort"
	}
	return "action(" + strconv.Itoa(int(k)) + ")"
}

func (k CheckKind) String() string {
	switch k {
	case InvalidParameter:
		return "invalid parameter"
	case InvalidState:
		return "invalid state"
	case Incompatible:
		return "incompatible"
	case NotSupported:
		return "not supported"
	case Timeout:
		return "timeout"
	case Failed:
		return "failed"
	}
	return "check(" + strconv.Itoa(int(k)) + ")"
}
