// Package eventing keeps the state of WS-Eventing subscriptions (DMTF
// DSP0226 §10): their bounded event queues, expiry, heartbeats and the
// delivery loop of push-style subscriptions with its retries. It knows no
// XML and no HTTP: events arrive already serialized, and a Deliverer
// supplied by the protocol layer (package wsman) writes and sends the
// messages.
//
// Every resource it holds is bounded: subscriptions in all and per user
// (Config.MaxSubscriptions, MaxSubscriptionsPerUser), events and bytes per
// subscription (MaxQueueEvents, MaxQueueBytes; past them the oldest events
// are dropped and counted, and the next delivery starts with a
// DroppedEvents marker, DSP0226 §10.6), and the life of a subscription
// (MaxExpiry; expired subscriptions are swept). A push target that keeps
// failing is given up after its retries, with a SubscriptionEnd
// (DeliveryFailure) to its EndTo address.
//
// Imports: the standard library only.
package eventing
