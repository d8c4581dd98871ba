"""gRPC L7 load balancing (the lab's currencyservice): a minimal `hipstershop` proto, a stand-in
server answering the lab's currency list, and a bounded concurrent gRPC call loop."""
